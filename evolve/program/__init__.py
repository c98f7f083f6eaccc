"""Memory programs: the contract (README.md, "Memory programs") and the gates a program passes before it is
evaluated."""
