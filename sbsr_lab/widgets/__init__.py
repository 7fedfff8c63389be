"""sbsr_lab.widgets"""
