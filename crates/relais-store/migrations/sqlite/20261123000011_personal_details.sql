-- Personal details of the personnel file (personal e-mail and phone, work
-- phone, home address, gender, nationality, civil title), as one JSON object
-- named as the API names them.
ALTER TABLE employees ADD COLUMN personal TEXT NOT NULL DEFAULT '{}';
