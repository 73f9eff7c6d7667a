"""Daily facts from Facebook, the metrics and ROI (one implementation), charts, dashboard, weekly PDF."""
