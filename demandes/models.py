# The demandes (offers of service, SPEC §5) come with their own issue.
