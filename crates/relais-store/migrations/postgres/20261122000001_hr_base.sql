-- The HR base: bases (tenants) and everything they hold.
-- Records are numbered per base: primary keys are (base_id, id), so a test base
-- copied from production keeps the same identifiers and references.

CREATE TABLE bases (
    id BIGINT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('production', 'test')),
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL
);

-- The next free identifier of each entity in each base.
CREATE TABLE id_sequences (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    entity TEXT NOT NULL,
    next_id BIGINT NOT NULL,
    PRIMARY KEY (base_id, entity)
);

CREATE TABLE legal_units (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    siren TEXT NOT NULL,
    country TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id)
);
CREATE UNIQUE INDEX legal_units_siren_key ON legal_units (base_id, siren);

CREATE TABLE establishments (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    legal_unit_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    code TEXT NOT NULL,
    siret TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    address_line TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    working_days TEXT NOT NULL,
    holidays TEXT NOT NULL,
    archived BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, legal_unit_id) REFERENCES legal_units (base_id, id)
);
CREATE UNIQUE INDEX establishments_code_key ON establishments (base_id, code);
CREATE UNIQUE INDEX establishments_siret_key ON establishments (base_id, siret);

-- head_id names an employee; it has no foreign key because departments are
-- created before the people who head them.
CREATE TABLE departments (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    parent_id BIGINT,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    head_id BIGINT,
    position INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, parent_id) REFERENCES departments (base_id, id)
);
CREATE UNIQUE INDEX departments_code_key ON departments (base_id, code);

CREATE TABLE sections (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    standard BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id)
);
CREATE UNIQUE INDEX sections_code_key ON sections (base_id, code);

CREATE TABLE section_fields (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    section_id BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    choices TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, section_id) REFERENCES sections (base_id, id)
);
CREATE UNIQUE INDEX section_fields_code_key ON section_fields (base_id, code);

CREATE TABLE employees (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    employee_number TEXT NOT NULL,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    mail TEXT NOT NULL,
    login TEXT NOT NULL,
    birth_date DATE,
    establishment_id BIGINT NOT NULL,
    department_id BIGINT,
    manager_id BIGINT,
    job_title TEXT,
    csp TEXT,
    profession TEXT,
    contract_start DATE NOT NULL,
    contract_end DATE,
    extended_data TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, establishment_id) REFERENCES establishments (base_id, id),
    FOREIGN KEY (base_id, department_id) REFERENCES departments (base_id, id),
    FOREIGN KEY (base_id, manager_id) REFERENCES employees (base_id, id)
);
CREATE UNIQUE INDEX employees_number_key ON employees (base_id, employee_number);
CREATE UNIQUE INDEX employees_mail_key ON employees (base_id, lower(mail));
CREATE UNIQUE INDEX employees_login_key ON employees (base_id, login);
CREATE INDEX employees_modified_idx ON employees (base_id, modified_at);
CREATE INDEX employees_department_idx ON employees (base_id, department_id);

CREATE TABLE absence_accounts (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    unit TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id)
);
CREATE UNIQUE INDEX absence_accounts_name_key ON absence_accounts (base_id, name);

-- start_slot and end_slot number half days (2 * day + 1 for PM) for overlap tests.
CREATE TABLE leave_periods (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    employee_id BIGINT NOT NULL,
    account_id BIGINT NOT NULL,
    start_date DATE NOT NULL,
    start_half TEXT NOT NULL,
    end_date DATE NOT NULL,
    end_half TEXT NOT NULL,
    start_slot BIGINT NOT NULL,
    end_slot BIGINT NOT NULL,
    half_days INTEGER NOT NULL,
    status TEXT NOT NULL,
    comment TEXT,
    source TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    cancelled_at TIMESTAMPTZ,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, employee_id) REFERENCES employees (base_id, id),
    FOREIGN KEY (base_id, account_id) REFERENCES absence_accounts (base_id, id),
    CHECK (end_slot >= start_slot)
);
CREATE INDEX leave_periods_owner_idx ON leave_periods (base_id, employee_id, start_slot);
CREATE INDEX leave_periods_modified_idx ON leave_periods (base_id, modified_at);

CREATE TABLE expense_natures (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    name TEXT NOT NULL,
    cap_minor BIGINT,
    cap_currency TEXT,
    mileage BOOLEAN NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id)
);

CREATE TABLE axes (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id)
);
CREATE UNIQUE INDEX axes_code_key ON axes (base_id, code);

CREATE TABLE axis_sections (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    axis_id BIGINT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, axis_id) REFERENCES axes (base_id, id)
);
CREATE UNIQUE INDEX axis_sections_code_key ON axis_sections (base_id, axis_id, code);

CREATE TABLE expense_claims (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    status INTEGER NOT NULL,
    currency TEXT NOT NULL,
    declared_on DATE,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, owner_id) REFERENCES employees (base_id, id)
);
CREATE INDEX expense_claims_owner_idx ON expense_claims (base_id, owner_id);

-- attendees and axis_sections are JSON; warnings are comma-separated codes.
CREATE TABLE expense_items (
    base_id BIGINT NOT NULL REFERENCES bases (id),
    id BIGINT NOT NULL,
    claim_id BIGINT NOT NULL,
    owner_id BIGINT NOT NULL,
    nature_id BIGINT NOT NULL,
    purchased_on DATE NOT NULL,
    currency TEXT NOT NULL,
    gross BIGINT NOT NULL,
    net BIGINT NOT NULL,
    vat BIGINT NOT NULL,
    reimbursed BIGINT NOT NULL,
    quantity INTEGER NOT NULL,
    mileage_km INTEGER,
    attendees TEXT NOT NULL,
    axis_sections TEXT NOT NULL,
    warnings TEXT NOT NULL,
    merchant TEXT,
    comment TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    modified_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (base_id, id),
    FOREIGN KEY (base_id, claim_id) REFERENCES expense_claims (base_id, id),
    FOREIGN KEY (base_id, owner_id) REFERENCES employees (base_id, id),
    FOREIGN KEY (base_id, nature_id) REFERENCES expense_natures (base_id, id)
);
CREATE INDEX expense_items_claim_idx ON expense_items (base_id, claim_id);
CREATE INDEX expense_items_owner_idx ON expense_items (base_id, owner_id, purchased_on);
