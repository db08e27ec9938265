"""The Debian cloud image recipe: python3 -m guest.cloud.build."""
