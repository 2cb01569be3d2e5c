"""PySide6 widgets. They display and delegate: every rule lives in crmdesk.services."""
