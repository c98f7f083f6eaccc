"""Memory programs: the contract (README.md, "Memory programs"), the static gates a program
passes before it is evaluated, and its id. The sandboxed smoke gate is in
``evolve.evaluation.smoke``."""
