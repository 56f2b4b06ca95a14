SELECT period_end, closed_at FROM period_closes ORDER BY period_end
