"""What a vehicle publishes: the loan tape (`tape`), figure tables
(`figures`, `package`), versioned packages (`publish`) and investor
delivery (`delivery`, with the mail adapter `mail`)."""
