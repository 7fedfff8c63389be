"""sbsr_lab.losses"""
