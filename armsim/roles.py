"""Transitional alias of `armsim.builtin_roles`, kept only while tests outside armsim still import
`armsim.roles`; delete it once they import `armsim.builtin_roles`."""

from armsim.builtin_roles import ALL_BUILTIN_ROLES, BUILTIN_BY_ID, BUILTIN_BY_NAME, Role

__all__ = ["ALL_BUILTIN_ROLES", "BUILTIN_BY_ID", "BUILTIN_BY_NAME", "Role"]
