"""The synthetic dialog generator behind the ``dialog-synth`` task.

``vocab`` holds the word pools and sentence templates, ``world`` draws the people, facts and
session dates of one conversation, ``questions`` the questions about them, and
``dialog_synth`` renders everything in the LoCoMo format and serves it as a task.
"""
