"""The contribution ledger (sổ cái đóng): one row per person, employer and month with a column
per scheme part, employer bills, payments, arrears and late-payment interest, and the
contribution history of a person that benefit decisions rely on."""
