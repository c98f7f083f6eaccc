"""Evaluation: one program on one task subset (gates, then every group in the sandbox).

``smoke`` is the last gate (load the program and run one filler ``write``/``read`` in the
sandbox); it lives here, beside the evaluation that runs it, because it needs the task agent's
field coercion, while ``evolve.program`` (the contract and its static gates) sits below the
task agent.
"""
