"""sbsr_lab.data"""
