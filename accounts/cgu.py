"""The conditions of use (CGU). Changing the text means a new version: everyone accepts again."""

CGU_VERSION = "2026-11"
