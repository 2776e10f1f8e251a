"""The crash harness: every named crash point enumerated, double starts, in processes of their own."""
