CREATE TABLE sandbox.scratch_book (note_text VARCHAR(100));
