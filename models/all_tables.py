"""Imports every model module so Base.metadata knows all tables (for Alembic and tests)."""
import models.entities  # noqa: F401
import models.competitions  # noqa: F401
import models.goals  # noqa: F401
import models.scheduling  # noqa: F401
