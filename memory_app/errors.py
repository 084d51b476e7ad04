"""The errors of every write and read of the store: nothing was written when one is raised."""


class StoreError(ValueError):
    """A write or read was refused; nothing was written."""


class NotFound(StoreError, LookupError):
    """The row a call names does not exist."""


class InvalidInput(StoreError):
    """A value is not one the v1 contract allows."""
