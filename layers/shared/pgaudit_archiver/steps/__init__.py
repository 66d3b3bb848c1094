"""One module per onboarding step: the logic between a handler and the data-access modules."""
