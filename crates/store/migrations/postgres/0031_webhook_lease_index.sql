-- The webhook dispatcher reads back what it just claimed (`WHERE lease_token = $1`, issue 15
-- feed speed). Without an index that read scanned every waiting delivery each round, and
-- the queue is longest exactly when the dispatcher is behind. Only leased rows are indexed:
-- a claim sets the token, a delivery deletes the row, a failure clears it.
CREATE INDEX webhook_deliveries_lease ON webhook_deliveries (lease_token) WHERE lease_token IS NOT NULL;
