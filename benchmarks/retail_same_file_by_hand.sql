-- The `retail` preset's whole output file written by hand as one DuckDB query: the floor of
-- retail_by_hand.sql, plus every column tierkit's result has (the labels, the loyalty score,
-- all six tag flags, the metrics this file cannot feed, as the constants they fold to), in
-- tierkit's order and types, so that the file is tierkit's row for row and cell for cell
-- (benchmarks/grade.py checks it: `same_file_agrees`). What tierkit costs beyond this is the
-- tool itself: Python, planning and the shape of the SQL it generates.
-- Only its output is here: benchmarks/grade.py puts it in place of retail_by_hand.sql's, after
-- that floor's metrics, rankings and grades (`by_hand(..., same_file=True)`).
SELECT customer_id, tier,
  CASE tier WHEN 'vip' THEN 'VIP客户' WHEN 'regular' THEN '普通客户' WHEN 'potential' THEN '潜在客户' END AS tier_label,
  abc, pyramid,
  CASE WHEN loyal_years < 1 THEN 'disloyal' WHEN loyal_years < 3 THEN 'potential_loyal' ELSE 'loyal' END AS loyalty,
  CASE WHEN tag_slowing_down THEN 'slowing_down' ELSE '' END AS tags,
  false AS tag_serial_complainer, tag_slowing_down, false AS tag_late_payer, false AS tag_asks_but_does_not_buy,
  false AS tag_price_sensitive, false AS tag_quality_sensitive,
  spend_12m, orders_12m, orders_per_month, CAST(loyal_years AS BIGINT) AS loyal_years, recency_days, order_trend_6m,
  CAST(NULL AS BIGINT) AS late_payments_12m, CAST(0 AS BIGINT) AS complaints_90d, CAST(0 AS BIGINT) AS inquiries_90d,
  CAST(NULL AS BIGINT) AS discounted_orders_12m, discounted_share_12m,
  CAST(0 AS BIGINT) AS price_topics_12m, CAST(0 AS BIGINT) AS quality_topics_12m,
  concat_ws('', '{{"abc":{{"share_above":', CAST(CAST(above / total AS DECIMAL(18, 4)) AS VARCHAR),
    '}},"pyramid":{{"rank":', spend_rank, ',"of":', n, '}}}}') AS reasons
FROM graded
ORDER BY customer_id
) TO {output} (FORMAT parquet)
