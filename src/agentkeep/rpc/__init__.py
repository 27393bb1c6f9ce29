"""Inbound JSON-RPC: the methods clients call on ``/agents/{id}/rpc``.

- ``envelope``: the JSON-RPC request/result/error shapes and codes;
- ``params``: each method's params, and the task each names (``reference``);
- ``context``: ``RpcContext``, what a method may use (store, lifecycle, bus, agent
  client, settings, the caller's principal);
- ``dispatch``: the ``METHODS`` table and ``invoke``, which checks the agent and the
  caller's reach to the named task once, for every method;
- ``tasks`` (``task/create``), ``turns`` (``message/send``, ``event/send``), ``control``
  (``task/cancel``, ``task/interrupt``): the methods.

HTTP lives in ``api/rpc.py``; outbound calls to agents in ``acp/``.
"""
