"""Forward projections of a vehicle's waterfall from its published state
(scenarios, the engine, the back-test and the published projections table)."""
