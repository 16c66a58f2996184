"""The HTTP routes of the Functions app."""
