"""The platform every stage stands on: the ledger (the only module that talks to the store), data
contracts and checkpoints, the stage runner, artifacts and evidence, the outbox and its mailer, money,
configuration and the named crash points."""
