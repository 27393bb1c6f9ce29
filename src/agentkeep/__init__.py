"""agentkeep: an agent task server speaking the Agentex wire contract."""
