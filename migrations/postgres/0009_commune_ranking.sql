-- The operator's table by commune of residence (PostgreSQL): about 27 000 communes over a year at
-- national scale. To show its largest rows without adding up every commune (see
-- statistics::ranking), the cohort cells of that level get two partial indexes, and the number
-- of communes is kept by month.

-- Each month's communes, largest first (sorted access).
CREATE INDEX stats_cells_commune_rank ON stats_cells (month, n DESC, dim_value)
    WHERE metric = 'cohort' AND dim = 'commune' AND order_id = 0 AND site_id = 0;

-- A commune's months (its sums over a period, and its months with people when the counts below
-- change).
CREATE INDEX stats_cells_commune_months ON stats_cells (dim_value, month)
    INCLUDE (n, vouchers, started, used_vouchers, used_value_cents)
    WHERE metric = 'cohort' AND dim = 'commune' AND order_id = 0 AND site_id = 0;

-- How many communes had people handed over in `month` whose previous such month was `previous`
-- ('' for none). The communes with people in months A to B are those counted in a month of A..B
-- with `previous` before A: each is counted once, in its first month of the period.
CREATE TABLE stats_first_months (
    month    TEXT   NOT NULL,
    previous TEXT   NOT NULL,
    communes BIGINT NOT NULL,
    PRIMARY KEY (month, previous)
);
INSERT INTO stats_first_months (month, previous, communes)
SELECT month, previous, COUNT(*) FROM (
    SELECT month, COALESCE(LAG(month) OVER (PARTITION BY dim_value ORDER BY month), '') AS previous
    FROM stats_cells
    WHERE metric = 'cohort' AND dim = 'commune' AND order_id = 0 AND site_id = 0 AND n > 0
) s GROUP BY month, previous;
