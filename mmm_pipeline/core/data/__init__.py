"""Raw-data loading, pandera schemas, quality checks, the modelling table and the simulator."""
