-- The employee walk index also holds department and socio-professional
-- category: the headcount and absenteeism reports group employees by them,
-- and join absences to their owner's establishment, from the index alone.
DROP INDEX employees_walk_idx;
CREATE INDEX employees_walk_idx ON employees
    (base_id, id, contract_start, contract_end, establishment_id, department_id, csp);
