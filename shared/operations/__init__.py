"""What an operator watches, common to every process: request ids, log lines, metrics, and
readiness answers."""
