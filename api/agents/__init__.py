"""The agents' console: queue login, pause and the screen pop."""
