"""Part 4 of the course, operations (chapter 7): keep a fleet of deployed models healthy.

``fleet``        devices, an MQTT gateway that stores telemetry in SQLite, drift detection, a dashboard
``updates``      signed over-the-air updates, A/B slots with rollback, staged rollouts
``federated``    federated averaging (FedAvg) across devices
``robustness``   bit flips and their detection, timing side channels, voting across models and sensors

Imports from the parts before it (foundations, compress, deploy); the four are independent of one another.
"""
