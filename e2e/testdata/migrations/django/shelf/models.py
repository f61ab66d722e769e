# The shelf app's migrations are the test; its models are not used.
