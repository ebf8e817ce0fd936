"""The domain: the data model, the workflow, labels and the working-day calendar."""
