"""crmdesk: a desktop CRM for small supermarkets and neighbourhood shops."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crmdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
