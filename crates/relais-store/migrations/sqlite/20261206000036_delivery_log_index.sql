-- An endpoint's delivery log is read newest first, a page at a time
-- (`GET /api/relais/webhooks/{id}/deliveries?before=&status=`): by the
-- endpoint's deliveries in their order, and by those of one status, so
-- that a deep page, or the few failures among many deliveries, costs what
-- the first page does.
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_status_log_idx ON webhook_deliveries (endpoint_id, status, id);
