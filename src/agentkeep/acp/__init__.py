"""ACP: the server's side of the agent protocol (JSON-RPC 2.0 over HTTP to ``{acp_url}/api``).

``client`` sends calls and reads NDJSON streams; ``jsonrpc`` builds and checks envelopes;
``wire`` builds the params agents receive; ``fold`` turns streamed updates into messages;
``notify`` tells async agents about cancels they did not ask for.
"""
