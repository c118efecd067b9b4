"""newswatch: watch regional news and flag reports of attacks in Iraq."""

__version__ = "0.1.0"
