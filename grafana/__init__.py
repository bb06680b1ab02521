"""Grafana for the lite profile: the dashboards and the `streamlines grafana provision` command."""
