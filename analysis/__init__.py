"""Analysis of ensembles: policy comparison, sweeps, sensitivity, scenario discovery, plots and
reports. Imports the model; the model never imports this package."""
