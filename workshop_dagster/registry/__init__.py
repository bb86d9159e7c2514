"""What the code knows by name, imported from every floor: the minds (their names, lenses and
colours), the models' token prices, where a model server is."""
