-- A bulk write (a seed, an import of records, a base copy) writes the
-- events of the rows it creates one statement a table, instead of one
-- trigger run a row: seeding 100,000 employees writes about a million
-- events, and the row-by-row triggers looked each record's employee up three
-- times and ran a program of their own for each.
--
-- Each table's created event is now said once, as a view of the table's rows
-- (`<table>_created_events`, `row_id` the row's rowid): the insert
-- trigger writes the view's row of the one row inserted, outside bulk writes;
-- a bulk write marks itself in `bulk_writes` (as for the base's version),
-- notes where the table's rows end before its inserts, and then writes the
-- view's rows after that mark, in the order they were inserted (the store's
-- `Dialect::BULK_CREATED_EVENTS`). Either way the event is written in the
-- change's transaction.

CREATE VIEW legal_units_created_events AS SELECT
    t.base_id AS base_id,
    'legal-entity.created' AS topic,
    t.id AS record_id,
    NULL AS owner_id,
    NULL AS establishment_id,
    NULL AS contract_start,
    NULL AS contract_end,
    COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')) AS occurred_at,
    COALESCE((SELECT source FROM write_context), 'relais') AS source,
    json_object('base_id', t.base_id, 'id', t.id, 'name', t.name, 'siren', t.siren, 'country', t.country, 'code', t.code, 'headquarters_id', t.headquarters_id, 'archived', t.archived, 'created_at', t.created_at, 'modified_at', t.modified_at) AS data,
    NULL AS previous,
    t.rowid AS row_id
FROM legal_units t;

DROP TRIGGER legal_units_event_insert;
CREATE TRIGGER legal_units_event_insert AFTER INSERT ON legal_units
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous
    FROM legal_units_created_events WHERE row_id = NEW.rowid;
END;

CREATE VIEW establishments_created_events AS SELECT
    t.base_id AS base_id,
    'business-establishment.created' AS topic,
    t.id AS record_id,
    NULL AS owner_id,
    t.id AS establishment_id,
    NULL AS contract_start,
    NULL AS contract_end,
    COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')) AS occurred_at,
    COALESCE((SELECT source FROM write_context), 'relais') AS source,
    json_object('base_id', t.base_id, 'id', t.id, 'legal_unit_id', t.legal_unit_id, 'name', t.name, 'code', t.code, 'siret', t.siret, 'time_zone', t.time_zone, 'address_line', t.address_line, 'postal_code', t.postal_code, 'city', t.city, 'country', t.country, 'working_days', t.working_days, 'holidays', t.holidays, 'archived', t.archived, 'created_at', t.created_at, 'modified_at', t.modified_at) AS data,
    NULL AS previous,
    t.rowid AS row_id
FROM establishments t;

DROP TRIGGER establishments_event_insert;
CREATE TRIGGER establishments_event_insert AFTER INSERT ON establishments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous
    FROM establishments_created_events WHERE row_id = NEW.rowid;
END;

CREATE VIEW departments_created_events AS SELECT
    t.base_id AS base_id,
    'department.created' AS topic,
    t.id AS record_id,
    NULL AS owner_id,
    NULL AS establishment_id,
    NULL AS contract_start,
    NULL AS contract_end,
    COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')) AS occurred_at,
    COALESCE((SELECT source FROM write_context), 'relais') AS source,
    json_object('base_id', t.base_id, 'id', t.id, 'parent_id', t.parent_id, 'code', t.code, 'name', t.name, 'head_id', t.head_id, 'position', t.position, 'active', t.active, 'created_at', t.created_at, 'modified_at', t.modified_at) AS data,
    NULL AS previous,
    t.rowid AS row_id
FROM departments t;

DROP TRIGGER departments_event_insert;
CREATE TRIGGER departments_event_insert AFTER INSERT ON departments
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous
    FROM departments_created_events WHERE row_id = NEW.rowid;
END;

CREATE VIEW employees_created_events AS SELECT
    t.base_id AS base_id,
    'employee.created' AS topic,
    t.id AS record_id,
    t.id AS owner_id,
    t.establishment_id AS establishment_id,
    t.contract_start AS contract_start,
    t.contract_end AS contract_end,
    COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')) AS occurred_at,
    COALESCE((SELECT source FROM write_context), 'relais') AS source,
    json_object('base_id', t.base_id, 'id', t.id, 'employee_number', t.employee_number, 'first_name', t.first_name, 'last_name', t.last_name, 'mail', t.mail, 'login', t.login, 'birth_date', t.birth_date, 'establishment_id', t.establishment_id, 'department_id', t.department_id, 'manager_id', t.manager_id, 'job_title', t.job_title, 'csp', t.csp, 'profession', t.profession, 'contract_start', t.contract_start, 'contract_end', t.contract_end, 'extended_data', t.extended_data, 'personal', t.personal, 'created_at', t.created_at, 'modified_at', t.modified_at) AS data,
    NULL AS previous,
    t.rowid AS row_id
FROM employees t;

DROP TRIGGER employees_event_insert;
CREATE TRIGGER employees_event_insert AFTER INSERT ON employees
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous
    FROM employees_created_events WHERE row_id = NEW.rowid;
END;

CREATE VIEW leave_periods_created_events AS SELECT
    t.base_id AS base_id,
    'leave.created' AS topic,
    t.id AS record_id,
    t.employee_id AS owner_id,
    e.establishment_id AS establishment_id,
    e.contract_start AS contract_start,
    e.contract_end AS contract_end,
    COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')) AS occurred_at,
    COALESCE((SELECT source FROM write_context), 'relais') AS source,
    json_object('base_id', t.base_id, 'id', t.id, 'employee_id', t.employee_id, 'account_id', t.account_id, 'start_date', t.start_date, 'start_half', t.start_half, 'end_date', t.end_date, 'end_half', t.end_half, 'start_slot', t.start_slot, 'end_slot', t.end_slot, 'half_days', t.half_days, 'status', t.status, 'comment', t.comment, 'source', t.source, 'created_at', t.created_at, 'modified_at', t.modified_at, 'cancelled_at', t.cancelled_at) AS data,
    NULL AS previous,
    t.rowid AS row_id
FROM leave_periods t
    LEFT JOIN employees e ON e.base_id = t.base_id AND e.id = t.employee_id;

DROP TRIGGER leave_periods_event_insert;
CREATE TRIGGER leave_periods_event_insert AFTER INSERT ON leave_periods
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous
    FROM leave_periods_created_events WHERE row_id = NEW.rowid;
END;

CREATE VIEW expense_claims_created_events AS SELECT
    t.base_id AS base_id,
    'expense-claim.created' AS topic,
    t.id AS record_id,
    t.owner_id AS owner_id,
    e.establishment_id AS establishment_id,
    e.contract_start AS contract_start,
    e.contract_end AS contract_end,
    COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')) AS occurred_at,
    COALESCE((SELECT source FROM write_context), 'relais') AS source,
    json_object('base_id', t.base_id, 'id', t.id, 'owner_id', t.owner_id, 'author_id', t.author_id, 'name', t.name, 'status', t.status, 'approval_state', t.approval_state, 'currency', t.currency, 'declared_on', t.declared_on, 'created_at', t.created_at, 'modified_at', t.modified_at) AS data,
    NULL AS previous,
    t.rowid AS row_id
FROM expense_claims t
    LEFT JOIN employees e ON e.base_id = t.base_id AND e.id = t.owner_id;

DROP TRIGGER expense_claims_event_insert;
CREATE TRIGGER expense_claims_event_insert AFTER INSERT ON expense_claims
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous
    FROM expense_claims_created_events WHERE row_id = NEW.rowid;
END;

CREATE VIEW expense_items_created_events AS SELECT
    t.base_id AS base_id,
    'expense-claim-item.created' AS topic,
    t.id AS record_id,
    t.owner_id AS owner_id,
    e.establishment_id AS establishment_id,
    e.contract_start AS contract_start,
    e.contract_end AS contract_end,
    COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')) AS occurred_at,
    COALESCE((SELECT source FROM write_context), 'relais') AS source,
    json_object('base_id', t.base_id, 'id', t.id, 'claim_id', t.claim_id, 'line_number', t.line_number, 'payment_method', t.payment_method, 'controlled', t.controlled, 'owner_id', t.owner_id, 'nature_id', t.nature_id, 'purchased_on', t.purchased_on, 'currency', t.currency, 'gross', t.gross, 'net', t.net, 'vat', t.vat, 'reimbursed', t.reimbursed, 'quantity', t.quantity, 'mileage_km', t.mileage_km, 'attendees', t.attendees, 'axis_sections', t.axis_sections, 'warnings', t.warnings, 'merchant', t.merchant, 'comment', t.comment, 'created_at', t.created_at, 'modified_at', t.modified_at) AS data,
    NULL AS previous,
    t.rowid AS row_id
FROM expense_items t
    LEFT JOIN employees e ON e.base_id = t.base_id AND e.id = t.owner_id;

DROP TRIGGER expense_items_event_insert;
CREATE TRIGGER expense_items_event_insert AFTER INSERT ON expense_items
WHEN NOT EXISTS (SELECT 1 FROM bulk_writes) BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    SELECT base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous
    FROM expense_items_created_events WHERE row_id = NEW.rowid;
END;
