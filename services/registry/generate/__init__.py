"""A realistic synthetic data set as import files: `passerelles generate` (docs/generator.md).

reference.py reads the reference data (`data/`, rebuilt by build_data.py); territories.py makes
the local authorities (names.py names foreign places); network.py the cooperation network among
them; agreements.py its conventions; organisations.py associations, migrant organisations,
networks, resource centres and their relationships; projects.py the projects; periods.py draws
themes, dates, statuses and budgets; model.py holds the rows, writer.py writes them as CSV;
stats.py measures the network; generator.py runs it all and writes the manifest; cli.py is the
command.
"""

from services.registry.generate.generator import build, generate

__all__ = ["build", "generate"]
