"""Example ACP agents served by ``agentkeep example-agent``: ``echo`` (sync) and
``greeter`` (async). They register and authenticate the way agentex-sdk agents do."""
