-- The ceiling: the raw SQL of one create-sale, as pgbench runs it (bench/run.py, 8 clients).
-- Lock the 3 stock rows in id order, reserve, insert the sale, its 3 items and 3 ledger rows.
-- Variables (pgbench -D): variants, customers, wh (warehouse id), seller (user id).
-- The three variants come from three disjoint id ranges, so they are distinct and in id order.
-- Rows it adds are removed afterwards by bench/generate.py's restore().
\set third :variants / 3
\set v1 random(1, :third)
\set v2 random(:third + 1, 2 * :third)
\set v3 random(2 * :third + 1, :variants)
\set customer random(1, :customers)
BEGIN;
SELECT id, on_hand, reserved FROM inventory_stocklevel
 WHERE warehouse_id = :wh AND variant_id IN (:v1, :v2, :v3) ORDER BY id FOR UPDATE;
UPDATE inventory_stocklevel SET reserved = reserved + 1, updated_at = now()
 WHERE warehouse_id = :wh AND variant_id IN (:v1, :v2, :v3) AND on_hand - reserved >= 1;
INSERT INTO sales_sale (id, created_at, updated_at, number, reference, external_id, status, payment_status,
    fulfillment_status, return_status, currency, discount, discount_type, tax_rate, prices_include_tax, tax_shipping,
    shipping_cost, subtotal, discount_total, shipping_tax, tax_total, grand_total, paid_total, returned_total,
    billing_address,
    shipping_address, shipping_country, note, staff_note, tags, cancel_reason, reject_reason, sold_at,
    channel_id, customer_id, seller_id, warehouse_id, tax_id, cancellation_status, clone_reason, delivery_mode,
    delivery_note, delivery_status, locked, locked_reason, discount_code, exchange_rate, promotions_counted,
    tax_calculation, tax_lines, admin_note, customer_reference, device, invoice_status, metadata)
SELECT n.id, now(), now(), n.id, 'PGB-' || n.id, '', 'pending', 'unpaid', 'unfulfilled', 'none', 'USD', 0, 'fixed',
    0, false, false, 0, 0, 0, 0, 0, 0, 0, 0, '{}', '{}', '', '', '', '[]', '', '', now(), NULL, :customer, :seller,
    :wh, NULL, 'none', '', 'dispatch', '', 'none', false, '', '', 1, false, 'default', '[]',
    '', '', '', 'not_invoiced', '{}'
FROM (SELECT nextval(pg_get_serial_sequence('sales_sale', 'id')) AS id) n
RETURNING id AS sale_id \gset
INSERT INTO sales_saleitem (sku, name, quantity, quantity_returned, unit_price, cost_price, tax_rate, discount,
    discount_type, subtotal, discount_total, tax_total, net_total, total, tracking_code, tracking_url, carrier_id,
    product_id, product_group_id, sale_id, variant_id, warehouse_id, stock_warehouse_id, quantity_cancelled,
    quantity_fulfilled, tax_included, item_type, unit, variant_name, image_url)
SELECT v.sku, p.name, 1, 0, coalesce(v.price, p.price), coalesce(v.cost_price, p.cost_price), 0, 0, 'fixed',
    coalesce(v.price, p.price), 0, 0, coalesce(v.price, p.price), coalesce(v.price, p.price), '', '', NULL,
    p.id, p.product_group_id, :sale_id, v.id, :wh, NULL, 0, 0, false, p.kind, p.unit, v.name,
    coalesce(nullif(v.image_url, ''), p.image_url)
FROM inventory_variant v JOIN inventory_product p ON p.id = v.product_id
WHERE v.id IN (:v1, :v2, :v3) ORDER BY v.id;
INSERT INTO inventory_stockmovement (kind, on_hand_change, reserved_change, reason, created_at, sale_id,
    sale_seller_id, user_id, variant_id, warehouse_id)
VALUES ('reservation', 0, 1, 'pgbench', now(), :sale_id, :seller, :seller, :v1, :wh),
       ('reservation', 0, 1, 'pgbench', now(), :sale_id, :seller, :seller, :v2, :wh),
       ('reservation', 0, 1, 'pgbench', now(), :sale_id, :seller, :seller, :v3, :wh);
COMMIT;
