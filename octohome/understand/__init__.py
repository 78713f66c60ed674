"""Understanding: text -> validated device calls (the functional-token model and its files)."""
