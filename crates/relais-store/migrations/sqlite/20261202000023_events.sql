-- The change feed's outbox: every create, update and delete of the HR
-- records partners follow (legal entities, establishments, departments,
-- employees, leave periods, expense claims and their items) writes an event
-- in the same transaction as the change, whoever writes (the API, the admin
-- pages, an import, the command line, a connector, a base copy): the
-- database's own triggers write it, so a change without its event, or an
-- event without its change, cannot exist.
--
-- Events are numbered in the order they are written (`seq`): SQLite writes
-- one transaction at a time, so the numbers follow the commits and a reader
-- that has seen `seq` n of a base has seen every event of it before n (a
-- base's numbers have gaps, the other bases' events). `data` is the record just
-- after the change (before it, for a deletion), `previous` the record just
-- before an update, both as the store's row; what the record is about
-- (its employee, that employee's establishment and contract) is kept with
-- the event so that a feed shows each reader only what it may see.
-- An update is an event when it changes the record's `modified_at` (every
-- change does; locking an employee's row does not).
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    base_id BIGINT NOT NULL,
    topic TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    owner_id BIGINT,
    establishment_id BIGINT,
    contract_start DATE,
    contract_end DATE,
    occurred_at DATETIME NOT NULL,
    source TEXT NOT NULL,
    data TEXT NOT NULL,
    previous TEXT
);
CREATE INDEX events_base_idx ON events (base_id, seq);
CREATE INDEX events_occurred_idx ON events (occurred_at);

-- Who is writing and when, set by the store at the start of each write
-- transaction (SQLite writes one transaction at a time).
CREATE TABLE write_context (
    source TEXT NOT NULL,
    at DATETIME NOT NULL
);

CREATE TRIGGER legal_units_event_insert AFTER INSERT ON legal_units BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'legal-entity.created', NEW.id, NULL,
        NULL,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'name', NEW.name, 'siren', NEW.siren, 'country', NEW.country, 'code', NEW.code, 'headquarters_id', NEW.headquarters_id, 'archived', NEW.archived, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        NULL);
END;

CREATE TRIGGER legal_units_event_update AFTER UPDATE ON legal_units WHEN NEW.modified_at IS NOT OLD.modified_at BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'legal-entity.updated', NEW.id, NULL,
        NULL,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'name', NEW.name, 'siren', NEW.siren, 'country', NEW.country, 'code', NEW.code, 'headquarters_id', NEW.headquarters_id, 'archived', NEW.archived, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'name', OLD.name, 'siren', OLD.siren, 'country', OLD.country, 'code', OLD.code, 'headquarters_id', OLD.headquarters_id, 'archived', OLD.archived, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at));
END;

CREATE TRIGGER legal_units_event_delete AFTER DELETE ON legal_units BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (OLD.base_id, 'legal-entity.deleted', OLD.id, NULL,
        NULL,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'name', OLD.name, 'siren', OLD.siren, 'country', OLD.country, 'code', OLD.code, 'headquarters_id', OLD.headquarters_id, 'archived', OLD.archived, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at),
        NULL);
END;

CREATE TRIGGER establishments_event_insert AFTER INSERT ON establishments BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'business-establishment.created', NEW.id, NULL,
        NEW.id,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'legal_unit_id', NEW.legal_unit_id, 'name', NEW.name, 'code', NEW.code, 'siret', NEW.siret, 'time_zone', NEW.time_zone, 'address_line', NEW.address_line, 'postal_code', NEW.postal_code, 'city', NEW.city, 'country', NEW.country, 'working_days', NEW.working_days, 'holidays', NEW.holidays, 'archived', NEW.archived, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        NULL);
END;

CREATE TRIGGER establishments_event_update AFTER UPDATE ON establishments WHEN NEW.modified_at IS NOT OLD.modified_at BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'business-establishment.updated', NEW.id, NULL,
        NEW.id,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'legal_unit_id', NEW.legal_unit_id, 'name', NEW.name, 'code', NEW.code, 'siret', NEW.siret, 'time_zone', NEW.time_zone, 'address_line', NEW.address_line, 'postal_code', NEW.postal_code, 'city', NEW.city, 'country', NEW.country, 'working_days', NEW.working_days, 'holidays', NEW.holidays, 'archived', NEW.archived, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'legal_unit_id', OLD.legal_unit_id, 'name', OLD.name, 'code', OLD.code, 'siret', OLD.siret, 'time_zone', OLD.time_zone, 'address_line', OLD.address_line, 'postal_code', OLD.postal_code, 'city', OLD.city, 'country', OLD.country, 'working_days', OLD.working_days, 'holidays', OLD.holidays, 'archived', OLD.archived, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at));
END;

CREATE TRIGGER establishments_event_delete AFTER DELETE ON establishments BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (OLD.base_id, 'business-establishment.deleted', OLD.id, NULL,
        OLD.id,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'legal_unit_id', OLD.legal_unit_id, 'name', OLD.name, 'code', OLD.code, 'siret', OLD.siret, 'time_zone', OLD.time_zone, 'address_line', OLD.address_line, 'postal_code', OLD.postal_code, 'city', OLD.city, 'country', OLD.country, 'working_days', OLD.working_days, 'holidays', OLD.holidays, 'archived', OLD.archived, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at),
        NULL);
END;

CREATE TRIGGER departments_event_insert AFTER INSERT ON departments BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'department.created', NEW.id, NULL,
        NULL,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'parent_id', NEW.parent_id, 'code', NEW.code, 'name', NEW.name, 'head_id', NEW.head_id, 'position', NEW.position, 'active', NEW.active, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        NULL);
END;

CREATE TRIGGER departments_event_update AFTER UPDATE ON departments WHEN NEW.modified_at IS NOT OLD.modified_at BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'department.updated', NEW.id, NULL,
        NULL,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'parent_id', NEW.parent_id, 'code', NEW.code, 'name', NEW.name, 'head_id', NEW.head_id, 'position', NEW.position, 'active', NEW.active, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'parent_id', OLD.parent_id, 'code', OLD.code, 'name', OLD.name, 'head_id', OLD.head_id, 'position', OLD.position, 'active', OLD.active, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at));
END;

CREATE TRIGGER departments_event_delete AFTER DELETE ON departments BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (OLD.base_id, 'department.deleted', OLD.id, NULL,
        NULL,
        NULL,
        NULL,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'parent_id', OLD.parent_id, 'code', OLD.code, 'name', OLD.name, 'head_id', OLD.head_id, 'position', OLD.position, 'active', OLD.active, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at),
        NULL);
END;

CREATE TRIGGER employees_event_insert AFTER INSERT ON employees BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'employee.created', NEW.id, NEW.id,
        NEW.establishment_id,
        NEW.contract_start,
        NEW.contract_end,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'employee_number', NEW.employee_number, 'first_name', NEW.first_name, 'last_name', NEW.last_name, 'mail', NEW.mail, 'login', NEW.login, 'birth_date', NEW.birth_date, 'establishment_id', NEW.establishment_id, 'department_id', NEW.department_id, 'manager_id', NEW.manager_id, 'job_title', NEW.job_title, 'csp', NEW.csp, 'profession', NEW.profession, 'contract_start', NEW.contract_start, 'contract_end', NEW.contract_end, 'extended_data', NEW.extended_data, 'personal', NEW.personal, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        NULL);
END;

CREATE TRIGGER employees_event_update AFTER UPDATE ON employees WHEN NEW.modified_at IS NOT OLD.modified_at BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'employee.updated', NEW.id, NEW.id,
        NEW.establishment_id,
        NEW.contract_start,
        NEW.contract_end,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'employee_number', NEW.employee_number, 'first_name', NEW.first_name, 'last_name', NEW.last_name, 'mail', NEW.mail, 'login', NEW.login, 'birth_date', NEW.birth_date, 'establishment_id', NEW.establishment_id, 'department_id', NEW.department_id, 'manager_id', NEW.manager_id, 'job_title', NEW.job_title, 'csp', NEW.csp, 'profession', NEW.profession, 'contract_start', NEW.contract_start, 'contract_end', NEW.contract_end, 'extended_data', NEW.extended_data, 'personal', NEW.personal, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'employee_number', OLD.employee_number, 'first_name', OLD.first_name, 'last_name', OLD.last_name, 'mail', OLD.mail, 'login', OLD.login, 'birth_date', OLD.birth_date, 'establishment_id', OLD.establishment_id, 'department_id', OLD.department_id, 'manager_id', OLD.manager_id, 'job_title', OLD.job_title, 'csp', OLD.csp, 'profession', OLD.profession, 'contract_start', OLD.contract_start, 'contract_end', OLD.contract_end, 'extended_data', OLD.extended_data, 'personal', OLD.personal, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at));
END;

CREATE TRIGGER employees_event_delete AFTER DELETE ON employees BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (OLD.base_id, 'employee.deleted', OLD.id, OLD.id,
        OLD.establishment_id,
        OLD.contract_start,
        OLD.contract_end,
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'employee_number', OLD.employee_number, 'first_name', OLD.first_name, 'last_name', OLD.last_name, 'mail', OLD.mail, 'login', OLD.login, 'birth_date', OLD.birth_date, 'establishment_id', OLD.establishment_id, 'department_id', OLD.department_id, 'manager_id', OLD.manager_id, 'job_title', OLD.job_title, 'csp', OLD.csp, 'profession', OLD.profession, 'contract_start', OLD.contract_start, 'contract_end', OLD.contract_end, 'extended_data', OLD.extended_data, 'personal', OLD.personal, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at),
        NULL);
END;

CREATE TRIGGER leave_periods_event_insert AFTER INSERT ON leave_periods BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'leave.created', NEW.id, NEW.employee_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.employee_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.employee_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.employee_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'employee_id', NEW.employee_id, 'account_id', NEW.account_id, 'start_date', NEW.start_date, 'start_half', NEW.start_half, 'end_date', NEW.end_date, 'end_half', NEW.end_half, 'start_slot', NEW.start_slot, 'end_slot', NEW.end_slot, 'half_days', NEW.half_days, 'status', NEW.status, 'comment', NEW.comment, 'source', NEW.source, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at, 'cancelled_at', NEW.cancelled_at),
        NULL);
END;

CREATE TRIGGER leave_periods_event_update AFTER UPDATE ON leave_periods WHEN NEW.modified_at IS NOT OLD.modified_at BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'leave.updated', NEW.id, NEW.employee_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.employee_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.employee_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.employee_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'employee_id', NEW.employee_id, 'account_id', NEW.account_id, 'start_date', NEW.start_date, 'start_half', NEW.start_half, 'end_date', NEW.end_date, 'end_half', NEW.end_half, 'start_slot', NEW.start_slot, 'end_slot', NEW.end_slot, 'half_days', NEW.half_days, 'status', NEW.status, 'comment', NEW.comment, 'source', NEW.source, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at, 'cancelled_at', NEW.cancelled_at),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'employee_id', OLD.employee_id, 'account_id', OLD.account_id, 'start_date', OLD.start_date, 'start_half', OLD.start_half, 'end_date', OLD.end_date, 'end_half', OLD.end_half, 'start_slot', OLD.start_slot, 'end_slot', OLD.end_slot, 'half_days', OLD.half_days, 'status', OLD.status, 'comment', OLD.comment, 'source', OLD.source, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at, 'cancelled_at', OLD.cancelled_at));
END;

CREATE TRIGGER leave_periods_event_delete AFTER DELETE ON leave_periods BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (OLD.base_id, 'leave.deleted', OLD.id, OLD.employee_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.employee_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.employee_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.employee_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'employee_id', OLD.employee_id, 'account_id', OLD.account_id, 'start_date', OLD.start_date, 'start_half', OLD.start_half, 'end_date', OLD.end_date, 'end_half', OLD.end_half, 'start_slot', OLD.start_slot, 'end_slot', OLD.end_slot, 'half_days', OLD.half_days, 'status', OLD.status, 'comment', OLD.comment, 'source', OLD.source, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at, 'cancelled_at', OLD.cancelled_at),
        NULL);
END;

CREATE TRIGGER expense_claims_event_insert AFTER INSERT ON expense_claims BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'expense-claim.created', NEW.id, NEW.owner_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'owner_id', NEW.owner_id, 'author_id', NEW.author_id, 'name', NEW.name, 'status', NEW.status, 'approval_state', NEW.approval_state, 'currency', NEW.currency, 'declared_on', NEW.declared_on, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        NULL);
END;

CREATE TRIGGER expense_claims_event_update AFTER UPDATE ON expense_claims WHEN NEW.modified_at IS NOT OLD.modified_at BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'expense-claim.updated', NEW.id, NEW.owner_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'owner_id', NEW.owner_id, 'author_id', NEW.author_id, 'name', NEW.name, 'status', NEW.status, 'approval_state', NEW.approval_state, 'currency', NEW.currency, 'declared_on', NEW.declared_on, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'owner_id', OLD.owner_id, 'author_id', OLD.author_id, 'name', OLD.name, 'status', OLD.status, 'approval_state', OLD.approval_state, 'currency', OLD.currency, 'declared_on', OLD.declared_on, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at));
END;

CREATE TRIGGER expense_claims_event_delete AFTER DELETE ON expense_claims BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (OLD.base_id, 'expense-claim.deleted', OLD.id, OLD.owner_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.owner_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.owner_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.owner_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'owner_id', OLD.owner_id, 'author_id', OLD.author_id, 'name', OLD.name, 'status', OLD.status, 'approval_state', OLD.approval_state, 'currency', OLD.currency, 'declared_on', OLD.declared_on, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at),
        NULL);
END;

CREATE TRIGGER expense_items_event_insert AFTER INSERT ON expense_items BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'expense-claim-item.created', NEW.id, NEW.owner_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'claim_id', NEW.claim_id, 'line_number', NEW.line_number, 'payment_method', NEW.payment_method, 'controlled', NEW.controlled, 'owner_id', NEW.owner_id, 'nature_id', NEW.nature_id, 'purchased_on', NEW.purchased_on, 'currency', NEW.currency, 'gross', NEW.gross, 'net', NEW.net, 'vat', NEW.vat, 'reimbursed', NEW.reimbursed, 'quantity', NEW.quantity, 'mileage_km', NEW.mileage_km, 'attendees', NEW.attendees, 'axis_sections', NEW.axis_sections, 'warnings', NEW.warnings, 'merchant', NEW.merchant, 'comment', NEW.comment, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        NULL);
END;

CREATE TRIGGER expense_items_event_update AFTER UPDATE ON expense_items WHEN NEW.modified_at IS NOT OLD.modified_at BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (NEW.base_id, 'expense-claim-item.updated', NEW.id, NEW.owner_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = NEW.base_id AND e.id = NEW.owner_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', NEW.base_id, 'id', NEW.id, 'claim_id', NEW.claim_id, 'line_number', NEW.line_number, 'payment_method', NEW.payment_method, 'controlled', NEW.controlled, 'owner_id', NEW.owner_id, 'nature_id', NEW.nature_id, 'purchased_on', NEW.purchased_on, 'currency', NEW.currency, 'gross', NEW.gross, 'net', NEW.net, 'vat', NEW.vat, 'reimbursed', NEW.reimbursed, 'quantity', NEW.quantity, 'mileage_km', NEW.mileage_km, 'attendees', NEW.attendees, 'axis_sections', NEW.axis_sections, 'warnings', NEW.warnings, 'merchant', NEW.merchant, 'comment', NEW.comment, 'created_at', NEW.created_at, 'modified_at', NEW.modified_at),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'claim_id', OLD.claim_id, 'line_number', OLD.line_number, 'payment_method', OLD.payment_method, 'controlled', OLD.controlled, 'owner_id', OLD.owner_id, 'nature_id', OLD.nature_id, 'purchased_on', OLD.purchased_on, 'currency', OLD.currency, 'gross', OLD.gross, 'net', OLD.net, 'vat', OLD.vat, 'reimbursed', OLD.reimbursed, 'quantity', OLD.quantity, 'mileage_km', OLD.mileage_km, 'attendees', OLD.attendees, 'axis_sections', OLD.axis_sections, 'warnings', OLD.warnings, 'merchant', OLD.merchant, 'comment', OLD.comment, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at));
END;

CREATE TRIGGER expense_items_event_delete AFTER DELETE ON expense_items BEGIN
    INSERT INTO events (base_id, topic, record_id, owner_id, establishment_id, contract_start, contract_end, occurred_at, source, data, previous)
    VALUES (OLD.base_id, 'expense-claim-item.deleted', OLD.id, OLD.owner_id,
        (SELECT e.establishment_id FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.owner_id),
        (SELECT e.contract_start FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.owner_id),
        (SELECT e.contract_end FROM employees e WHERE e.base_id = OLD.base_id AND e.id = OLD.owner_id),
        COALESCE((SELECT at FROM write_context), strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
        COALESCE((SELECT source FROM write_context), 'relais'),
        json_object('base_id', OLD.base_id, 'id', OLD.id, 'claim_id', OLD.claim_id, 'line_number', OLD.line_number, 'payment_method', OLD.payment_method, 'controlled', OLD.controlled, 'owner_id', OLD.owner_id, 'nature_id', OLD.nature_id, 'purchased_on', OLD.purchased_on, 'currency', OLD.currency, 'gross', OLD.gross, 'net', OLD.net, 'vat', OLD.vat, 'reimbursed', OLD.reimbursed, 'quantity', OLD.quantity, 'mileage_km', OLD.mileage_km, 'attendees', OLD.attendees, 'axis_sections', OLD.axis_sections, 'warnings', OLD.warnings, 'merchant', OLD.merchant, 'comment', OLD.comment, 'created_at', OLD.created_at, 'modified_at', OLD.modified_at),
        NULL);
END;
