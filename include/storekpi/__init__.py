"""storekpi: nightly KPI warehouse for online shops."""
