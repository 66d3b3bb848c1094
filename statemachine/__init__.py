"""The workflows: spec.py describes them, asl.py writes the *.asl.json files SAM deploys."""
