"""The review wing (issue #23): annotations on turns, sessions and workflow runs, review
queues, and findings that become governed proposals."""
